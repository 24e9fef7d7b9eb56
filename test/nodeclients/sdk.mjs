// Drives Auth0's Node management SDK through every Actions call it has
// against a local tenant, and prints one JSON line of what it saw. Exits 1
// on any error. Needs AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET.
import { ManagementClient } from 'auth0';

const m = new ManagementClient({
  domain: process.env.AUTH0_DOMAIN,
  clientId: process.env.AUTH0_CLIENT_ID,
  clientSecret: process.env.AUTH0_CLIENT_SECRET,
});
const unwrap = (r) => (r && r.data !== undefined ? r.data : r);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const created = unwrap(await m.actions.create({
  name: 'from-node-sdk',
  supported_triggers: [{ id: 'post-login', version: 'v3' }],
  code: 'exports.onExecutePostLogin = async (event, api) => { api.user.setAppMetadata("sdk", true); };',
  dependencies: [{ name: 'lodash', version: '4.17.21' }],
  secrets: [{ name: 'K', value: 'node-secret-value' }],
}));
let got;
for (let i = 0; i < 100; i++) {
  got = unwrap(await m.actions.get(created.id));
  if (got.status === 'built') break;
  await sleep(50);
}
const version = unwrap(await m.actions.deploy(created.id));
const listed = [];
for await (const a of await m.actions.list({ per_page: 50 })) listed.push(a.name);
await m.actions.triggers.bindings.updateMany('post-login', {
  bindings: [{ ref: { type: 'action_name', value: 'from-node-sdk' }, display_name: 'From the SDK' }],
});
const bindings = [];
for await (const b of await m.actions.triggers.bindings.list('post-login')) bindings.push(b.display_name);
const versions = [];
for await (const v of await m.actions.versions.list(created.id)) versions.push(v.number);
const rollback = unwrap(await m.actions.versions.deploy(created.id, version.id, { update_draft: true }));
const triggers = unwrap(await m.actions.triggers.list());
let conflict = 0;
try {
  await m.actions.delete(created.id);
} catch (e) {
  conflict = e.statusCode;
}
await m.actions.delete(created.id, { force: true });

console.log(JSON.stringify({
  status: got.status,
  secretValueReturned: JSON.stringify(got).includes('node-secret-value'),
  deployed: version.number,
  listed,
  bindings,
  versions,
  rollback: rollback.number,
  triggers: triggers.triggers.length,
  deleteWhileBound: conflict,
}));

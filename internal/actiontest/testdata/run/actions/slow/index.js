// Spins for ever unless told to be quick: the time limit must stop it.
exports.onExecuteCredentialsExchange = async (event, api) => {
  if (event.client.metadata.quick) {
    return;
  }
  console.log('spinning');
  for (;;) {}
};

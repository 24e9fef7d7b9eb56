// ok
// ok
var ÿ = 1;

// Computes without end: stopped by its CPU time long before its wall-clock limit.
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("started", true);
  let n = 0;
  while (true) n = (n * 31 + 7) % 1000003;
};

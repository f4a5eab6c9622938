// Waits three times longer than its CPU limit, computing almost nothing: waiting is not CPU time.
exports.onExecutePostLogin = async (event, api) => {
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 600));
  api.idToken.setCustomClaim("waited", Date.now() - started >= 600);
};

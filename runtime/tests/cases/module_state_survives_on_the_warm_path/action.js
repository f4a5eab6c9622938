let executions = 0;
exports.onExecutePostLogin = async (event, api) => {
  executions += 1;
  api.idToken.setCustomClaim("count", executions > 1 ? "warm" : "cold");
};

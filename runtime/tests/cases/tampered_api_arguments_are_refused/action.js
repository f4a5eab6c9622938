exports.onExecutePostLogin = async (event, api) => {
  // A replaced built-in (Array.prototype.toJSON) changes how the arguments are recorded: a claim
  // name that is no longer a string must not reach the outcome.
  Array.prototype.toJSON = function () {
    return [42, "value"];
  };
  api.idToken.setCustomClaim("name", "value");
};

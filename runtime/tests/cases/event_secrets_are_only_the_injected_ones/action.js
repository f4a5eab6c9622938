exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("secret names", Object.keys(event.secrets));
  api.idToken.setCustomClaim("frozen", Object.isFrozen(event.secrets));
  api.idToken.setCustomClaim("user", event.user.id);
};

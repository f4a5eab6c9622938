exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim("https://example.com/roles", event.user.roles);
  api.idToken.setCustomClaim("https://example.com/email", event.user.email);
};

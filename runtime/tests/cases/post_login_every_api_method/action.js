exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim("a", { nested: [1, 2] });
  api.idToken.setCustomClaim("b", 42);
  api.user.setAppMetadata("plan", "pro");
  api.user.setUserMetadata("theme", null);
  api.multifactor.enable("duo", { allowRememberBrowser: false });
  api.redirect.sendUserTo("https://example.com/consent", { query: { step: "1" } });
  api.access.deny("blocked country");
};

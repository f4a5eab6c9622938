exports.onExecutePostLogin = async (event, api) => {
  const tries = [
    () => api.access.deny(42),
    () => api.accessToken.setCustomClaim(null, 1),
    () => api.idToken.setCustomClaim("x", () => 1),
    () => api.user.setAppMetadata("x", 10n),
    () => api.redirect.sendUserTo("not a url"),
    () => api.multifactor.enable("duo", "no"),
    () => api.cache.set("k", 5),
  ];
  for (const t of tries) {
    try { t(); console.log("no error"); } catch (e) { console.log(`${e.constructor.name}: ${e.message}`); }
  }
  api.accessToken.setCustomClaim({}, 1);
};

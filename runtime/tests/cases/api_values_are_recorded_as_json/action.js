exports.onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata("prefs", { theme: undefined, sizes: [1, undefined], nested: { x: undefined } });
  api.idToken.setCustomClaim("list", ["a", undefined, null]);
  const value = { a: 1 };
  api.accessToken.setCustomClaim("copied", value);
  value.a = 2;
  try {
    api.user.setUserMetadata("big", { n: 10n });
  } catch (e) {
    console.log(e.name, e.message);
  }
  const cycle = {};
  cycle.self = cycle;
  try {
    api.accessToken.setCustomClaim("cycle", cycle);
  } catch (e) {
    console.log(e.name, e.message.split("\n")[0]);
  }
};

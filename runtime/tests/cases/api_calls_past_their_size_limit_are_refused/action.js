// A 100 MiB claim is refused before it is copied; then metadata of 300 KiB each until the calls
// pass 1 MiB together: the call past it throws, naming itself, and the calls before it stand.
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("small", "ok");
  try {
    api.accessToken.setCustomClaim("huge", "x".repeat(100 * 1024 * 1024));
  } catch (e) {
    console.log(`${e.name}: ${e.message}`);
  }
  for (let i = 0; ; i++) api.user.setAppMetadata(`part${i}`, { v: "y".repeat(300 * 1024) });
};

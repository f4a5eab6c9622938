/**
 * Adds the user's roles to the access token, and denies users whose email is not verified.
 * @param {Actionflow.Event} event
 * @param {Actionflow.PostLoginApi} api
 */
exports.onExecutePostLogin = async (event, api) => {
  if (!event.user.email_verified) {
    api.access.deny("Please verify your email before logging in.");
    return;
  }
  const roles = event.user.app_metadata.roles ?? [];
  api.accessToken.setCustomClaim("https://example.com/roles", roles);
  console.log(`granted ${roles.length} role(s) to ${event.user.email}`);
};

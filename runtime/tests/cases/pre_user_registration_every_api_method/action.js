exports.onExecutePreUserRegistration = async (event, api) => {
  api.user.setUserMetadata("source", "signup-form");
  api.user.setAppMetadata("tier", "free");
  if (!event.user.email.endsWith("@example.com")) api.validation.error("invalid_domain", "Use your work email");
  api.access.deny("no_signups", "Sign-ups are closed");
  console.log(typeof api.accessToken, typeof api.redirect);
};

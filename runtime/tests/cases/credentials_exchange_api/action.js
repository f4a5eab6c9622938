exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim("client", event.client.name);
  api.access.deny("invalid_request", "blocked client");
};

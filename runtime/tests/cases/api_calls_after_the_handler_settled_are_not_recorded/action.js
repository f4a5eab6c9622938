// A timer left running past the handler calls `api` after the execution's result was taken: the call
// belongs to no execution, so it is recorded in neither this one nor the next.
exports.onExecutePostLogin = async (event, api) => {
  setTimeout(() => api.access.deny("after the handler returned"), 0);
  api.accessToken.setCustomClaim("run", event.user.id);
};

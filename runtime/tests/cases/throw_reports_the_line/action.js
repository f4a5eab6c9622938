// a comment
function check(user) {
  if (!user.verified) {
    throw new Error(`user ${user.id} is not verified`);
  }
}
exports.onExecutePostLogin = async (event, api) => {
  api.access.deny("first");
  check(event.user);
};

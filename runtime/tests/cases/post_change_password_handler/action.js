exports.onExecutePostChangePassword = async (event) => {
  console.log(`password changed for ${event.user.email}`);
};

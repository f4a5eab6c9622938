exports.onExecutePostLogin = async (event, api) => {
  setTimeout(() => { throw new RangeError("late failure"); }, 5);
  api.access.deny("decided before the failure");
};

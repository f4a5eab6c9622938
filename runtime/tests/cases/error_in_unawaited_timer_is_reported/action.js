exports.onExecutePostLogin = async () => {
  setTimeout(() => { throw new RangeError("late failure"); }, 5);
};

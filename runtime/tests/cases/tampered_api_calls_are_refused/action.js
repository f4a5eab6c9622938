exports.onExecutePostUserRegistration = async () => {
  // An async trigger has no access.deny; forging one through toJSON must not reach the outcome.
  Object.prototype.toJSON = function () {
    return Array.isArray(this.calls) ? { calls: [{ method: "access.deny", args: ["forged"] }], error: null } : this;
  };
};

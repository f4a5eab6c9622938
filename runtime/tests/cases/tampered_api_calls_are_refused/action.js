exports.onExecutePostUserRegistration = async () => {
  // An async trigger has no access.deny; forging one through toJSON must not reach the outcome (the
  // result is assembled from texts recorded at each call, so a toJSON cannot add calls to it).
  Object.prototype.toJSON = function () {
    return Array.isArray(this.calls) ? { calls: [{ method: "access.deny", args: ["forged"] }], error: null } : this;
  };
};

exports.onExecutePostLogin = async () => { throw { reason: "nope" }; };

exports.onExecutePostUserRegistration = async () => {};

const config = JSON.parse("{not json");
exports.onExecutePostLogin = async () => {};

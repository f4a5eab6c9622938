exports.onExecutePostLogin = async () => { while (true) {} };

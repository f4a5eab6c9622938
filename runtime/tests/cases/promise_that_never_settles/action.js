exports.onExecutePostLogin = async () => { await new Promise(() => {}); };

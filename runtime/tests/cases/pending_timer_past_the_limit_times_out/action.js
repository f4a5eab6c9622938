exports.onExecutePostLogin = async () => { await new Promise((r) => setTimeout(r, 60000)); };

exports.onExecutePostLogin = async (event, api) => {
  const ok = 1;
  const broken = {;
};

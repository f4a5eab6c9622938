exports.onExecutePostLogin = async (event, api) => {
  setTimeout(() => console.log("finished later"), 30);
  Promise.resolve().then(() => console.log("microtask"));
  console.log("handler returns");
};

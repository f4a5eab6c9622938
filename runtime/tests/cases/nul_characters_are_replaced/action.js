exports.onExecutePostLogin = async (event, api) => {
  console.log("a\0b");
  api.idToken.setCustomClaim("k\0", { v: "x\0y" });
  throw new Error("bad\0byte");
};

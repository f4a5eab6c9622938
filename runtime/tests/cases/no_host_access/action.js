exports.onExecutePostLogin = async () => {
  console.log(typeof Deno, typeof process, typeof __bootstrap, typeof __afBootstrap, typeof Bun);
  for (const m of ["fs", "child_process", "node:net", "os"]) {
    try { require(m); } catch (e) { console.log(e.message); }
  }
  try { require("left-pad"); } catch (e) { console.log(e.message); }
};

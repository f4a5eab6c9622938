// An error of 10 MiB: the outcome keeps 16 KiB of it (then "…"), redacted before the cut.
exports.onExecutePostLogin = async (event) => {
  throw new Error(`${event.secrets.TOKEN} ${"e".repeat(10 * 1024 * 1024)}`);
};

exports.onExecutePostLogin = async () => {
  // One flat string of ~512 MiB, far past the heap limit in a single allocation: must end as out of
  // memory, not abort the process.
  const s = JSON.stringify("x".repeat(2 ** 29 - 30));
  console.log(s.length);
};

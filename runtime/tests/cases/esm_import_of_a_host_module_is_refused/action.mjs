import cp from "node:child_process";
export const onExecutePostLogin = async () => {};

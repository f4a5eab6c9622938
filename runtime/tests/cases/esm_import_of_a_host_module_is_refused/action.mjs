import fs from "node:fs";
export const onExecutePostLogin = async () => {};

export const onExecutePostLogin = async () => {
  null.boom;
};

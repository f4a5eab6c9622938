"use strict";
// Replacing `Object.freeze` or `Object.keys` on its warm isolate does not unfreeze the action's later
// events: the engine froze them with the functions it kept before any action ran.
exports.onExecutePostLogin = async (event) => {
  console.log(Object.isFrozen(event), Object.isFrozen(event.user), Object.isFrozen(event.user.roles));
  Object.freeze = (value) => value;
  Object.keys = () => [];
};

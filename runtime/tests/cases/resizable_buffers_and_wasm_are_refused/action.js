exports.onExecutePostLogin = async () => {
  console.log(typeof WebAssembly, typeof SharedArrayBuffer);
  try { new ArrayBuffer(8, { maxByteLength: 2 ** 34 }); } catch (e) { console.log(e.constructor.name, e.message); }
  const plain = new ArrayBuffer(8);
  console.log(plain instanceof ArrayBuffer, plain.byteLength, plain.resizable, new Uint8Array(4).buffer.constructor === ArrayBuffer);
  class Sub extends ArrayBuffer {}
  console.log(new Sub(2) instanceof ArrayBuffer, ArrayBuffer.isView(new Uint8Array(1)));
};

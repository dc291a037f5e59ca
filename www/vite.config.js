// The package is linked from ../web (file:), whose own node_modules hold
// CodeMirror for its build: one copy of CodeMirror for the whole app, or its
// extensions would not recognise each other.
export default {
  resolve: { dedupe: ["@codemirror/state", "@codemirror/view"] },
};

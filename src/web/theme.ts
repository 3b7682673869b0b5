import { type MantineColorsTuple, createTheme } from '@mantine/core';

/** Steel blue: calm, readable in a control room, not an alarm color. */
const portcullis: MantineColorsTuple = [
  '#eaf3fb',
  '#d6e3f0',
  '#a9c5e1',
  '#79a5d2',
  '#528ac5',
  '#3a79be',
  '#2c70bb',
  '#1f5fa5',
  '#155494',
  '#004884',
];

export const theme = createTheme({
  primaryColor: 'portcullis',
  primaryShade: { light: 7, dark: 5 },
  colors: { portcullis },
  defaultRadius: 'sm',
  fontFamily:
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif',
  fontFamilyMonospace: 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace',
  headings: { fontWeight: '600' },
  components: {
    Modal: { defaultProps: { overlayProps: { backgroundOpacity: 0.45, blur: 1 } } },
    Table: { defaultProps: { verticalSpacing: 'xs', highlightOnHover: true } },
  },
});

// The lint gate (`npm run lint`, part of scripts/test.sh): typescript-eslint with type
// information over everything TypeScript, zero warnings allowed.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.cache/**', 'node_modules/**', 'test/data/**', 'native/build/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts', 'eslint.config.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `import x = require()` is how CommonJS packages with `export =` (blessed) are typed;
      // ext2fs's internals are required lazily, on the first ext filesystem, by design.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true, allow: ['^ext2fs/'] }],
      // Async interface methods (FileSystem.read, ...) are often implemented synchronously.
      '@typescript-eslint/require-await': 'off',
      // Matching control characters is the point where disk and terminal text is sanitised.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        module: 'writable',
      },
    },
  },
  {
    // bin/tendril.js is the CommonJS launcher npm links, initramfs/start.js the initramfs's;
    // both load the bundle with CommonJS.
    files: ['bin/*.js', 'initramfs/start.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

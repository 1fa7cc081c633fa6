export { loadSpecFile, parseSpec, parseSpecText, specInvalid, type LoadedSpec, type LoadOptions } from "./load.js";
export {
  TEMPLATE_FIELDS,
  emptyTemplateContext,
  extractTemplateRefs,
  findTemplateSyntaxIssues,
  hasTemplate,
  renderTemplates,
  templateVariables,
  type TemplateCategory,
  type TemplateContext,
  type TemplateRef,
} from "./template.js";
export {
  assertValidEarly,
  assertValidLate,
  logicalNetworkName,
  resolveProviderName,
  validateEarly,
  validateLate,
  vmNetworkNames,
  type LateValidationOptions,
} from "./validate.js";
export { isWellKnownImageRef, imageSourceKind, WELL_KNOWN_IMAGES } from "./images.js";
export { parseDurationMs, parseCidr, parseIPv4 } from "./literals.js";

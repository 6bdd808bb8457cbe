export { applyBatch } from './applier.js'
export { project } from './core/project.js'
export { projectBatch } from './core/project-batch.js'
export { startProjector } from './projector.js'

"""The condatask operator: reconciles GitTask resources into CronJobs (kopf).

The folder is `operator/`, but the package is imported as `condatask_operator`: a top-level
package named `operator` would shadow the standard library's module.
"""

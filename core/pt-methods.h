/* pt-methods.h: the built-in SSL methods. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registers SimCLR, MoCo v2, SwAV, DeepCluster, RotNet and MAE in the method
 * registry (pt-method.h). Safe to call more than once, from any thread. */
void pt_methods_register_builtin (void);

G_END_DECLS

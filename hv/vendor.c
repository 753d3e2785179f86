/*
 * hv/vendor.c - the hardware backend hv runs on: chosen once at boot by
 * probing each in turn (see vendor.h). The loader asks first, before
 * ExitBootServices (hv_cpu_refusal).
 */
#include "bootinfo.h"
#include "hv.h"
#include "vendor.h"

const struct vendor_ops *vendor;

const struct vendor_ops *pick_vendor(void)
{
	static const struct vendor_ops *const all[] = { &svm_ops, &vmx_ops };
	const char *why[ARRAY_SIZE(all)];
	for (unsigned i = 0; i < ARRAY_SIZE(all); i++) {
		why[i] = all[i]->probe();
		if (!why[i])
			return all[i];
	}
	/* Say why only when no backend takes this CPU. */
	for (unsigned i = 0; i < ARRAY_SIZE(all); i++)
		printk("hv: error: %s: %s\n", all[i]->name, why[i]);
	return NULL;
}

/*
 * For the UEFI loader, before ExitBootServices: can this CPU run hv at all
 * (SVM + nested paging or VT-x + EPT, and enabled by the firmware)? NULL if
 * so, else every backend's reason on one line, so the loader can print it
 * and return to the firmware instead of halting later.
 */
const char *hv_cpu_refusal(void)
{
	static const struct vendor_ops *const all[] = { &svm_ops, &vmx_ops };
	static char why[400];
	size_t n = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(all); i++) {
		const char *w = all[i]->probe();
		if (!w)
			return NULL;
		n += (size_t)ksnprintf(why + n, n < sizeof(why) ? sizeof(why) - n : 0, "%s%s: %s",
				       i ? "; " : "", all[i]->name, w);
	}
	return why;
}

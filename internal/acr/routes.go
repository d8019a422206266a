package acr

import (
	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/authz"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
)

// Why each Microsoft.ContainerRegistry route moves no artifact content;
// the one route that can (importImage) names its channel instead.
const (
	metadataOnly = "reads or writes registry metadata, never artifact content"
	noArtifacts  = "manages credentials or access rules; no artifact content moves"
	listReadable = "lists show only what the caller may read, as ARM does"
)

// Table declares the provider's routes for the management router
// (DESIGN.md "The front door"): each with its api-versions, the RBAC
// action checked at its scope, and its egress channel.
func (p *Provider) Table() arm.Table {
	const sub = "/subscriptions/{sub}"
	const regs = "/providers/Microsoft.ContainerRegistry/registries"
	const reg = sub + "/resourceGroups/{rg}" + regs + "/{name}"
	rv := registryVersions
	routes := []arm.Route{
		{Method: "GET", Pattern: "/providers/Microsoft.ContainerRegistry/operations", Versions: rv, Access: arm.AnyCaller("the catalogue of operations is the same for everyone"),
			Egress: arm.MovesNoContent(metadataOnly), Handle: p.listOperations},
		{Method: "GET", Pattern: sub + "/providers/Microsoft.ContainerRegistry", Versions: arm.AnyAPIVersion(), Access: arm.AnyCaller("provider metadata: api-versions and types"),
			Egress: arm.MovesNoContent(metadataOnly), Handle: p.providerInfo},
		{Method: "POST", Pattern: sub + "/providers/Microsoft.ContainerRegistry/checkNameAvailability", Versions: rv,
			Action: providerNamespace + "/checkNameAvailability/read", Egress: arm.MovesNoContent(metadataOnly), Handle: p.checkName},
		{Method: "GET", Pattern: sub + regs, Versions: rv, Action: registryRead, Access: arm.PerItem(listReadable),
			Egress: arm.MovesNoContent(metadataOnly), Handle: p.listRegistries},
		{Method: "GET", Pattern: sub + "/resourceGroups/{rg}" + regs, Versions: rv, Action: registryRead, Access: arm.PerItem(listReadable),
			Egress: arm.MovesNoContent(metadataOnly), Handle: p.listRegistries},
		{Method: "GET", Pattern: reg, Versions: rv, Action: registryRead, Egress: arm.MovesNoContent(metadataOnly), Handle: p.getRegistry},
		{Method: "PUT", Pattern: reg, Versions: rv, Action: registryWrite, Egress: arm.MovesNoContent(metadataOnly), Handle: p.putRegistry, Preview: p.previewRegistry},
		{Method: "PATCH", Pattern: reg, Versions: rv, Action: registryWrite, Egress: arm.MovesNoContent(metadataOnly), Handle: p.patchRegistry},
		{Method: "DELETE", Pattern: reg, Versions: rv, Action: registryDelete, Egress: arm.MovesNoContent("deletes the registry and its content; nothing leaves it"), Handle: p.deleteRegistry},
		{Method: "POST", Pattern: reg + "/listCredentials", Versions: rv, Action: RegistryType + "/listCredentials/action",
			Egress: arm.MovesNoContent(noArtifacts), Handle: p.credentials(false)},
		{Method: "POST", Pattern: reg + "/regenerateCredential", Versions: rv, Action: RegistryType + "/regenerateCredential/action",
			Egress: arm.MovesNoContent(noArtifacts), Handle: p.credentials(true)},
		{Method: "GET", Pattern: reg + "/listUsages", Versions: rv, Action: RegistryType + "/listUsages/read",
			Egress: arm.MovesNoContent(metadataOnly), Handle: p.listUsages},
		{Method: "POST", Pattern: reg + "/importImage", Versions: rv, Action: RegistryType + "/importImage/action",
			Egress: arm.Moves(egress.ChannelImportSource), Handle: p.importImage},
		{Method: "POST", Pattern: reg + "/egressReport", Versions: rv, Action: egressReportAction,
			Egress: arm.MovesNoContent("reads counters of what left the registry"), Handle: p.egressReport},
		{Method: "POST", Pattern: reg + "/whatIf", Versions: rv, Action: registryRead,
			Egress: arm.MovesNoContent("predicts an update in a read-only transaction; writes nothing"), Handle: p.whatIf},
	}
	for _, k := range []pipelineKind{exportKind, importKind} {
		pv := arm.APIVersions(k.typ, pipelineAPIVersions...)
		why := arm.MovesNoContent("an import pipeline only brings content in")
		if k.export {
			why = arm.Moves(egress.ChannelExportPipelineCreate)
		}
		routes = append(routes,
			arm.Route{Method: "GET", Pattern: reg + "/" + k.segment, Versions: pv, Action: k.typ + "/read", Egress: arm.MovesNoContent(metadataOnly), Handle: p.listPipelines(k)},
			arm.Route{Method: "GET", Pattern: reg + "/" + k.segment + "/{pipeline}", Versions: pv, Action: k.typ + "/read", Egress: arm.MovesNoContent(metadataOnly), Handle: p.getPipeline(k)},
			arm.Route{Method: "PUT", Pattern: reg + "/" + k.segment + "/{pipeline}", Versions: pv, Action: k.typ + "/write", Egress: why, Handle: p.putPipeline(k)},
			arm.Route{Method: "DELETE", Pattern: reg + "/" + k.segment + "/{pipeline}", Versions: pv, Action: k.typ + "/delete", Egress: arm.MovesNoContent(metadataOnly), Handle: p.deletePipeline},
		)
	}
	runs := reg + "/pipelineRuns"
	rnv := arm.APIVersions(PipelineRunType, pipelineAPIVersions...)
	routes = append(routes,
		arm.Route{Method: "GET", Pattern: runs, Versions: rnv, Action: PipelineRunType + "/read", Egress: arm.MovesNoContent(metadataOnly), Handle: p.listPipelineRuns},
		arm.Route{Method: "GET", Pattern: runs + "/{run}", Versions: rnv, Action: PipelineRunType + "/read", Egress: arm.MovesNoContent(metadataOnly), Handle: p.getPipelineRun},
		arm.Route{Method: "PUT", Pattern: runs + "/{run}", Versions: rnv, Action: PipelineRunType + "/write", Egress: arm.Moves(egress.ChannelExportPipelineRun), Handle: p.putPipelineRun},
		arm.Route{Method: "DELETE", Pattern: runs + "/{run}", Versions: rnv, Action: PipelineRunType + "/delete", Egress: arm.MovesNoContent("deletes a run's record; a run in flight stops and writes nothing more"), Handle: p.deletePipelineRun},
	)
	conn := reg + "/privateEndpointConnections"
	routes = append(routes,
		arm.Route{Method: "GET", Pattern: conn, Versions: rv, Action: connectionType + "/read", Egress: arm.MovesNoContent(noArtifacts), Handle: p.listConnections},
		arm.Route{Method: "GET", Pattern: conn + "/{conn}", Versions: rv, Action: connectionType + "/read", Egress: arm.MovesNoContent(noArtifacts), Handle: p.getConnection},
		arm.Route{Method: "PUT", Pattern: conn + "/{conn}", Versions: rv, Action: approveAction, Egress: arm.MovesNoContent(noArtifacts), Handle: p.putConnection},
		arm.Route{Method: "DELETE", Pattern: conn + "/{conn}", Versions: rv, Action: connectionType + "/delete", Egress: arm.MovesNoContent(noArtifacts), Handle: p.deleteConnection},
	)
	for _, c := range []struct {
		segment, typ string
		list, get    arm.Handler
		put, patch   arm.Handler
		del          arm.Handler
	}{
		{"scopeMaps", authz.ScopeMapType, p.listScopeMaps, p.getScopeMap, p.putScopeMap(false), p.putScopeMap(true), p.deleteScopeMap},
		{"tokens", authz.TokenType, p.listTokens, p.getToken, p.putToken(false), p.putToken(true), p.deleteToken},
	} {
		routes = append(routes,
			arm.Route{Method: "GET", Pattern: reg + "/" + c.segment, Versions: rv, Action: c.typ + "/read", Egress: arm.MovesNoContent(noArtifacts), Handle: c.list},
			arm.Route{Method: "GET", Pattern: reg + "/" + c.segment + "/{child}", Versions: rv, Action: c.typ + "/read", Egress: arm.MovesNoContent(noArtifacts), Handle: c.get},
			arm.Route{Method: "PUT", Pattern: reg + "/" + c.segment + "/{child}", Versions: rv, Action: c.typ + "/write", Egress: arm.MovesNoContent(noArtifacts), Handle: c.put},
			arm.Route{Method: "PATCH", Pattern: reg + "/" + c.segment + "/{child}", Versions: rv, Action: c.typ + "/write", Egress: arm.MovesNoContent(noArtifacts), Handle: c.patch},
			arm.Route{Method: "DELETE", Pattern: reg + "/" + c.segment + "/{child}", Versions: rv, Action: c.typ + "/delete", Egress: arm.MovesNoContent(noArtifacts), Handle: c.del},
		)
	}
	routes = append(routes, arm.Route{Method: "POST", Pattern: reg + "/generateCredentials", Versions: rv, Action: RegistryType + "/generateCredentials/action",
		Egress: arm.MovesNoContent(noArtifacts), Handle: p.generateCredentials})
	routes = append(routes, arm.OperationTable(p.meta, providerNamespace)...)
	return arm.Table{Name: providerNamespace, Routes: routes}
}

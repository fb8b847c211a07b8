{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 5,
			"revision": 6,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			80.0,
			80.0,
			820.0,
			500.0
		],
		"bglocked": 0,
		"openinpresentation": 1,
		"default_fontsize": 12.0,
		"default_fontface": 0,
		"default_fontname": "Arial",
		"gridonopen": 1,
		"gridsize": [
			15.0,
			15.0
		],
		"gridsnaponopen": 1,
		"objectsnaponopen": 1,
		"statusbarvisible": 2,
		"toolbarvisible": 1,
		"description": "liveart remote: OSC to liveart, following its --osc-out echo",
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						10.0,
						300.0,
						20.0
					],
					"text": "liveart remote",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						10.0,
						300.0,
						24.0
					],
					"fontsize": 16.0,
					"fontface": 1
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						36.0,
						800.0,
						20.0
					],
					"text": "Sends OSC to liveart (udpsend 127.0.0.1 9000) and follows its echo: start the show with  liveart run --osc-out 127.0.0.1:9002",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						36.0,
						760.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						58.0,
						1180.0,
						20.0
					],
					"text": "Patching view: one column per parameter: [r liveart-in] -> [route address] -> [prepend set] (shows the value without sending it) -> slider -> [prepend address] -> [s liveart-osc]. Addresses: docs/osc-protocol.md"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						100.0,
						100.0,
						20.0
					],
					"text": "to liveart"
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						125.0,
						103.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						130.0,
						125.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "host 127.0.0.1"
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						240.0,
						125.0,
						75.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "port 9000"
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						160.0,
						166.0,
						22.0
					],
					"text": "udpsend 127.0.0.1 9000"
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						360.0,
						100.0,
						200.0,
						20.0
					],
					"text": "from liveart (--osc-out)"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						480.0,
						125.0,
						75.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "port 9002"
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						360.0,
						160.0,
						117.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "udpreceive 9002"
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						360.0,
						195.0,
						96.0,
						22.0
					],
					"text": "s liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-13",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						240.0,
						150.0,
						20.0
					],
					"text": "mix",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						70.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-14",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						258.0,
						150.0,
						20.0
					],
					"text": "0 .. 1   live frame (0) .. dream (1)",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						70.0,
						249.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						285.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						20.0,
						310.0,
						180.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/mix"
				}
			},
			{
				"box": {
					"id": "obj-17",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						150.0,
						340.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						370.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						70.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": 0.0,
					"size": 1.0,
					"floatoutput": 1
				}
			},
			{
				"box": {
					"id": "obj-19",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						255.0,
						435.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						70.0,
						60.0,
						22.0
					],
					"minimum": 0.0,
					"maximum": 1.0,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						255.0,
						405.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						470.0,
						194.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/mix"
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						500.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						350.0,
						240.0,
						150.0,
						20.0
					],
					"text": "octaves",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						98.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						350.0,
						258.0,
						150.0,
						20.0
					],
					"text": "1 .. 6   scales the dream works at",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						98.0,
						235.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-25",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						285.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						350.0,
						310.0,
						208.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/octaves"
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						480.0,
						340.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						370.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						98.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": 1,
					"size": 6,
					"floatoutput": 0
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						585.0,
						435.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						98.0,
						60.0,
						22.0
					],
					"minimum": 1,
					"maximum": 6,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						585.0,
						405.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-31",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						470.0,
						222.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/octaves"
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						350.0,
						500.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680.0,
						240.0,
						150.0,
						20.0
					],
					"text": "step size",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						126.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680.0,
						258.0,
						150.0,
						20.0
					],
					"text": "0 .. 0.2   how hard each step pushes",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						126.0,
						235.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						680.0,
						285.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						680.0,
						310.0,
						222.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/step_size"
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						810.0,
						340.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						680.0,
						370.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						126.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": 0.0,
					"size": 0.2,
					"floatoutput": 1
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						915.0,
						435.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						126.0,
						60.0,
						22.0
					],
					"minimum": 0.0,
					"maximum": 0.2,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						915.0,
						405.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						680.0,
						470.0,
						236.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/step_size"
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680.0,
						500.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1010.0,
						240.0,
						150.0,
						20.0
					],
					"text": "feedback",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						154.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1010.0,
						258.0,
						150.0,
						20.0
					],
					"text": "0 .. 1   how much of the last dream carries on",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						154.0,
						319.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						1010.0,
						285.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-46",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1010.0,
						310.0,
						215.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/feedback"
				}
			},
			{
				"box": {
					"id": "obj-47",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1140.0,
						340.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-48",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1010.0,
						370.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						154.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": 0.0,
					"size": 1.0,
					"floatoutput": 1
				}
			},
			{
				"box": {
					"id": "obj-49",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						1245.0,
						435.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						154.0,
						60.0,
						22.0
					],
					"minimum": 0.0,
					"maximum": 1.0,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1245.0,
						405.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-51",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1010.0,
						470.0,
						229.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/feedback"
				}
			},
			{
				"box": {
					"id": "obj-52",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1010.0,
						500.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-53",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						550.0,
						150.0,
						20.0
					],
					"text": "zoom",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						182.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-54",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						568.0,
						150.0,
						20.0
					],
					"text": "-0.05 .. 0.05   feedback zoom per tick",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						182.0,
						214.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-55",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						595.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-56",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						20.0,
						620.0,
						187.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/zoom"
				}
			},
			{
				"box": {
					"id": "obj-57",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						150.0,
						650.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-58",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						680.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						182.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": -0.05,
					"size": 0.1,
					"floatoutput": 1
				}
			},
			{
				"box": {
					"id": "obj-59",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						255.0,
						745.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						182.0,
						60.0,
						22.0
					],
					"minimum": -0.05,
					"maximum": 0.05,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-60",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						255.0,
						715.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-61",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						780.0,
						201.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/zoom"
				}
			},
			{
				"box": {
					"id": "obj-62",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						810.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-63",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						350.0,
						550.0,
						150.0,
						20.0
					],
					"text": "rotate",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						210.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-64",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						350.0,
						568.0,
						150.0,
						20.0
					],
					"text": "-5 .. 5   feedback rotation per tick",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						210.0,
						242.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-65",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						595.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-66",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						350.0,
						620.0,
						201.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/rotate"
				}
			},
			{
				"box": {
					"id": "obj-67",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						480.0,
						650.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-68",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						680.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						210.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": -5.0,
					"size": 10.0,
					"floatoutput": 1
				}
			},
			{
				"box": {
					"id": "obj-69",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						585.0,
						745.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						210.0,
						60.0,
						22.0
					],
					"minimum": -5.0,
					"maximum": 5.0,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-70",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						585.0,
						715.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-71",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						350.0,
						780.0,
						215.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/rotate"
				}
			},
			{
				"box": {
					"id": "obj-72",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						350.0,
						810.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-73",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680.0,
						550.0,
						150.0,
						20.0
					],
					"text": "scene mix",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						238.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-74",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680.0,
						568.0,
						150.0,
						20.0
					],
					"text": "0 .. 1   chain: first scene (0) .. whole chain (1)",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						238.0,
						347.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-75",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						680.0,
						595.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-76",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						680.0,
						620.0,
						180.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/scene/mix"
				}
			},
			{
				"box": {
					"id": "obj-77",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						810.0,
						650.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-78",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						680.0,
						680.0,
						120.0,
						20.0
					],
					"outlettype": [
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						238.0,
						200.0,
						20.0
					],
					"orientation": 1,
					"parameter_enable": 0,
					"min": 0.0,
					"size": 1.0,
					"floatoutput": 1
				}
			},
			{
				"box": {
					"id": "obj-79",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						915.0,
						745.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						315.0,
						238.0,
						60.0,
						22.0
					],
					"minimum": 0.0,
					"maximum": 1.0,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-80",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						915.0,
						715.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-81",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						680.0,
						780.0,
						194.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/scene/mix"
				}
			},
			{
				"box": {
					"id": "obj-82",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						680.0,
						810.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-83",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						880.0,
						100.0,
						20.0
					],
					"text": "layer",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						266.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-84",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						898.0,
						240.0,
						20.0
					],
					"text": "low: strokes, blocks.8-12: eyes",
					"presentation": 1,
					"presentation_rect": [
						380.0,
						266.0,
						300.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-85",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						925.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-86",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						20.0,
						950.0,
						194.0,
						22.0
					],
					"outlettype": [
						"",
						""
					],
					"text": "route /liveart/dream/layer"
				}
			},
			{
				"box": {
					"id": "obj-87",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						975.0,
						131.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend setsymbol"
				}
			},
			{
				"box": {
					"id": "obj-88",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						20.0,
						1005.0,
						150.0,
						22.0
					],
					"outlettype": [
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						266.0,
						200.0,
						22.0
					],
					"items": [
						"blocks.0",
						",",
						"blocks.1",
						",",
						"blocks.2",
						",",
						"blocks.3",
						",",
						"blocks.4",
						",",
						"blocks.5",
						",",
						"blocks.6",
						",",
						"blocks.7",
						",",
						"blocks.8",
						",",
						"blocks.9",
						",",
						"blocks.10",
						",",
						"blocks.11",
						",",
						"blocks.12",
						",",
						"blocks.13",
						",",
						"blocks.14",
						",",
						"blocks.15",
						",",
						"head",
						",",
						"relu1_1",
						",",
						"relu1_2",
						",",
						"pool1",
						",",
						"relu2_1",
						",",
						"relu2_2",
						",",
						"pool2",
						",",
						"relu3_1",
						",",
						"relu3_2",
						",",
						"relu3_3",
						",",
						"pool3",
						",",
						"relu4_1",
						",",
						"relu4_2",
						",",
						"relu4_3",
						",",
						"pool4",
						",",
						"relu5_1",
						",",
						"relu5_2",
						",",
						"relu5_3",
						",",
						"pool5",
						",",
						"relu3_4",
						",",
						"relu4_4",
						",",
						"relu5_4"
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-89",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						1035.0,
						208.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/dream/layer"
				}
			},
			{
				"box": {
					"id": "obj-90",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						1065.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-91",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						290.0,
						880.0,
						100.0,
						20.0
					],
					"text": "reset",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						298.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-92",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						290.0,
						925.0,
						24.0,
						24.0
					],
					"outlettype": [
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						298.0,
						24.0,
						24.0
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-93",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						290.0,
						960.0,
						166.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "/liveart/dream/reset 1"
				}
			},
			{
				"box": {
					"id": "obj-94",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						290.0,
						990.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-95",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						320.0,
						925.0,
						220.0,
						20.0
					],
					"text": "clear what the dream has grown",
					"presentation": 1,
					"presentation_rect": [
						140.0,
						300.0,
						240.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-96",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						560.0,
						880.0,
						100.0,
						20.0
					],
					"text": "scene",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						334.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-97",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						560.0,
						905.0,
						150.0,
						22.0
					],
					"outlettype": [
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						334.0,
						200.0,
						22.0
					],
					"items": [
						"dream",
						",",
						"style",
						",",
						"dream+style"
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-98",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						560.0,
						935.0,
						166.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/scene"
				}
			},
			{
				"box": {
					"id": "obj-99",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						560.0,
						965.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-100",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						720.0,
						905.0,
						300.0,
						20.0
					],
					"text": "a scene, or a chain such as dream+style"
				}
			},
			{
				"box": {
					"id": "obj-101",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						1120.0,
						100.0,
						20.0
					],
					"text": "load preset",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						366.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-102",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						20.0,
						1145.0,
						150.0,
						22.0
					],
					"outlettype": [
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						366.0,
						200.0,
						22.0
					],
					"items": [
						"gentle",
						",",
						"deep-eyes",
						",",
						"infinite-zoom",
						",",
						"ornaments",
						",",
						"pulse",
						",",
						"breathe",
						",",
						"bass-dream"
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-103",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						1175.0,
						208.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/preset/load"
				}
			},
			{
				"box": {
					"id": "obj-104",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						1205.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-105",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						290.0,
						1120.0,
						100.0,
						20.0
					],
					"text": "morph to",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						396.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-106",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						290.0,
						1145.0,
						150.0,
						22.0
					],
					"outlettype": [
						"int",
						"",
						""
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						396.0,
						200.0,
						22.0
					],
					"items": [
						"gentle",
						",",
						"deep-eyes",
						",",
						"infinite-zoom",
						",",
						"ornaments",
						",",
						"pulse",
						",",
						"breathe",
						",",
						"bass-dream"
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-107",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						460.0,
						1115.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "loadmess 8."
				}
			},
			{
				"box": {
					"id": "obj-108",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						460.0,
						1145.0,
						50.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						345.0,
						396.0,
						50.0,
						22.0
					],
					"minimum": 0.0,
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-109",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						515.0,
						1145.0,
						70.0,
						20.0
					],
					"text": "seconds",
					"presentation": 1,
					"presentation_rect": [
						400.0,
						396.0,
						70.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-110",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						460.0,
						1170.0,
						110.0,
						20.0
					],
					"text": "over",
					"presentation": 1,
					"presentation_rect": [
						315.0,
						396.0,
						30.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-111",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						290.0,
						1175.0,
						75.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "append 8."
				}
			},
			{
				"box": {
					"id": "obj-112",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						290.0,
						1205.0,
						215.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend /liveart/preset/morph"
				}
			},
			{
				"box": {
					"id": "obj-113",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						290.0,
						1235.0,
						103.0,
						22.0
					],
					"text": "s liveart-osc"
				}
			},
			{
				"box": {
					"id": "obj-114",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						560.0,
						1120.0,
						60.0,
						20.0
					],
					"text": "fps",
					"presentation": 1,
					"presentation_rect": [
						15.0,
						432.0,
						90.0,
						20.0
					]
				}
			},
			{
				"box": {
					"id": "obj-115",
					"maxclass": "newobj",
					"numinlets": 0,
					"numoutlets": 1,
					"patching_rect": [
						560.0,
						1145.0,
						96.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "r liveart-in"
				}
			},
			{
				"box": {
					"id": "obj-116",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 3,
					"patching_rect": [
						560.0,
						1170.0,
						320.0,
						22.0
					],
					"outlettype": [
						"",
						"",
						""
					],
					"text": "route /liveart/stats/fps /liveart/net/labels"
				}
			},
			{
				"box": {
					"id": "obj-117",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						560.0,
						1200.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-118",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						560.0,
						1230.0,
						60.0,
						22.0
					],
					"outlettype": [
						"",
						"bang"
					],
					"presentation": 1,
					"presentation_rect": [
						110.0,
						432.0,
						60.0,
						22.0
					],
					"parameter_enable": 0
				}
			},
			{
				"box": {
					"id": "obj-119",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						710.0,
						1200.0,
						89.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-120",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						710.0,
						1230.0,
						300.0,
						22.0
					],
					"outlettype": [
						""
					],
					"text": "",
					"presentation": 1,
					"presentation_rect": [
						225.0,
						432.0,
						385.0,
						22.0
					]
				}
			},
			{
				"box": {
					"id": "obj-121",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						710.0,
						1255.0,
						260.0,
						20.0
					],
					"text": "sees: the top-3 labels the network sees"
				}
			},
			{
				"box": {
					"id": "obj-122",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						710.0,
						1275.0,
						40.0,
						20.0
					],
					"text": "sees",
					"presentation": 1,
					"presentation_rect": [
						185.0,
						432.0,
						40.0,
						20.0
					]
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"source": [
						"obj-5",
						0
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						0
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						0
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-10",
						0
					],
					"destination": [
						"obj-11",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-15",
						0
					],
					"destination": [
						"obj-16",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-16",
						0
					],
					"destination": [
						"obj-17",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						0
					],
					"destination": [
						"obj-18",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						0
					],
					"destination": [
						"obj-19",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						0
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-20",
						0
					],
					"destination": [
						"obj-19",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-19",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-21",
						0
					],
					"destination": [
						"obj-22",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						0
					],
					"destination": [
						"obj-26",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-26",
						0
					],
					"destination": [
						"obj-27",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-27",
						0
					],
					"destination": [
						"obj-28",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-27",
						0
					],
					"destination": [
						"obj-29",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						0
					],
					"destination": [
						"obj-31",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						0
					],
					"destination": [
						"obj-30",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-30",
						0
					],
					"destination": [
						"obj-29",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-29",
						0
					],
					"destination": [
						"obj-31",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-31",
						0
					],
					"destination": [
						"obj-32",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-35",
						0
					],
					"destination": [
						"obj-36",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-36",
						0
					],
					"destination": [
						"obj-37",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						0
					],
					"destination": [
						"obj-38",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						0
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-38",
						0
					],
					"destination": [
						"obj-41",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-38",
						0
					],
					"destination": [
						"obj-40",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						0
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-39",
						0
					],
					"destination": [
						"obj-41",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						0
					],
					"destination": [
						"obj-42",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-45",
						0
					],
					"destination": [
						"obj-46",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-46",
						0
					],
					"destination": [
						"obj-47",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						0
					],
					"destination": [
						"obj-48",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						0
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						0
					],
					"destination": [
						"obj-50",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-50",
						0
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-49",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-51",
						0
					],
					"destination": [
						"obj-52",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-55",
						0
					],
					"destination": [
						"obj-56",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-56",
						0
					],
					"destination": [
						"obj-57",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-57",
						0
					],
					"destination": [
						"obj-58",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-57",
						0
					],
					"destination": [
						"obj-59",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-58",
						0
					],
					"destination": [
						"obj-61",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-58",
						0
					],
					"destination": [
						"obj-60",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-60",
						0
					],
					"destination": [
						"obj-59",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-59",
						0
					],
					"destination": [
						"obj-61",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-61",
						0
					],
					"destination": [
						"obj-62",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-65",
						0
					],
					"destination": [
						"obj-66",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-66",
						0
					],
					"destination": [
						"obj-67",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-67",
						0
					],
					"destination": [
						"obj-68",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-67",
						0
					],
					"destination": [
						"obj-69",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-68",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-68",
						0
					],
					"destination": [
						"obj-70",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-70",
						0
					],
					"destination": [
						"obj-69",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-69",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-71",
						0
					],
					"destination": [
						"obj-72",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-75",
						0
					],
					"destination": [
						"obj-76",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-76",
						0
					],
					"destination": [
						"obj-77",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-77",
						0
					],
					"destination": [
						"obj-78",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-77",
						0
					],
					"destination": [
						"obj-79",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-78",
						0
					],
					"destination": [
						"obj-81",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-78",
						0
					],
					"destination": [
						"obj-80",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-80",
						0
					],
					"destination": [
						"obj-79",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-79",
						0
					],
					"destination": [
						"obj-81",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-81",
						0
					],
					"destination": [
						"obj-82",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-85",
						0
					],
					"destination": [
						"obj-86",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-86",
						0
					],
					"destination": [
						"obj-87",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-87",
						0
					],
					"destination": [
						"obj-88",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-88",
						1
					],
					"destination": [
						"obj-89",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-89",
						0
					],
					"destination": [
						"obj-90",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-92",
						0
					],
					"destination": [
						"obj-93",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-93",
						0
					],
					"destination": [
						"obj-94",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-97",
						1
					],
					"destination": [
						"obj-98",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-98",
						0
					],
					"destination": [
						"obj-99",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-102",
						1
					],
					"destination": [
						"obj-103",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-103",
						0
					],
					"destination": [
						"obj-104",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-107",
						0
					],
					"destination": [
						"obj-108",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-108",
						0
					],
					"destination": [
						"obj-111",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-106",
						1
					],
					"destination": [
						"obj-111",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-111",
						0
					],
					"destination": [
						"obj-112",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-112",
						0
					],
					"destination": [
						"obj-113",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-115",
						0
					],
					"destination": [
						"obj-116",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-116",
						0
					],
					"destination": [
						"obj-117",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-117",
						0
					],
					"destination": [
						"obj-118",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-116",
						1
					],
					"destination": [
						"obj-119",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-119",
						0
					],
					"destination": [
						"obj-120",
						0
					]
				}
			}
		]
	}
}
